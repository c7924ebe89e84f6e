#!/usr/bin/env python
"""ag_detectron: Action Genome scene graphs and Charades actions as a Detectron2 extension."""

from setuptools import find_packages, setup

setup(
    name="ag-detectron",
    version="0.1.0",
    description="Action Genome (Ji et al., CVPR 2020) scene-graph and action models on Detectron2",
    packages=find_packages(exclude=("configs", "tests", "tests.*", "tools", "bench")),
    package_data={"ag_detectron.vocabulary": ["*.txt"]},
    python_requires=">=3.9",
    # detectron2 is deliberately not listed: it is not on PyPI (see scripts/setup_env.sh).
    install_requires=[
        "numpy>=1.23,<3",
        "torch>=2.0",
        "torchvision>=0.15",
        "Pillow>=9.0",
        "matplotlib>=3.5",
        "tabulate>=0.8",
        "tqdm>=4.50",
        "av>=10.0",
        "simplejpeg>=1.7",
        "pytorchvideo==0.1.5",  # clip backbones (only pytorchvideo.models is used)
    ],
    extras_require={
        "dev": ["pytest>=7.0", "hypothesis>=6.0", "scikit-learn>=1.1", "ruff==0.17.6"],
    },
)
