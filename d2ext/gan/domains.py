"""The two image domains of unpaired translation, as CycleGAN names them: what the model and the data share."""
DOMAINS = ("A", "B")
