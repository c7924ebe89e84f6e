"""ag_detectron: Action Genome + Charades on Detectron2."""
__version__ = "0.1.0"
