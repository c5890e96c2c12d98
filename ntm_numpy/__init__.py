"""ntm_numpy: a Neural Turing Machine (Graves, Wayne & Danihelka 2014) written by hand in NumPy."""
__version__ = "0.1.0"
