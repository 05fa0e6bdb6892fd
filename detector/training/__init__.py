"""Training: config (TrainConfig, every setting with its default, help and choices: the one
source of `pipeline train`'s flags, its --config file and ablate's --train-option; torch-free),
optim (optimiser, learning-rate schedule, EMA), outputs (the run directory's files), state (RNG
states; an epoch's starting point, to redo it after an out-of-memory) and trainer
(`train(TrainConfig) -> TrainResult`)."""
