"""compare-real, torch-free: compare (labelled real images: per-class gap, attribute shifts,
findings), unlabelled (real frames without labels), shift (attributes and the statistics of a
shift), suggest (the generator knob to turn, from the synthetic set's manifest), frames (a
folder of frames as a set), report and unlabelled_report (their reports), and run
(`pipeline compare-real` end to end)."""
