"""`pipeline ablate`: spec (regimes, test sets, seeds, the factorial design, AblateConfig),
views (the image budget and each regime's training view), run (generate, train, evaluate,
resume) and results (means, CIs, results.json/md/csv, plots). The names below are the
package's front door (what the CLI, demo and tests use)."""
from detector.evaluation.bootstrap import (MatchTable, bootstrap_counts, paired_bootstrap_ci,
                                           resampled_map50)

from .results import headline, summarise, write_results
from .run import default_detect, default_train, run_ablation
from .spec import (AblateConfig, EvalSet, Regime, expand_factorial, parse_factorial,
                   parse_regime, parse_seeds, parse_test, parse_train_options)
from .views import Budget, cycle_draws, plan_views, split_counts

__all__ = ["AblateConfig", "Budget", "EvalSet", "MatchTable", "Regime", "bootstrap_counts",
           "cycle_draws", "default_detect", "default_train", "expand_factorial", "headline",
           "paired_bootstrap_ci", "parse_factorial", "parse_regime", "parse_seeds",
           "parse_test", "parse_train_options", "plan_views", "resampled_map50",
           "run_ablation", "split_counts", "summarise", "write_results"]
