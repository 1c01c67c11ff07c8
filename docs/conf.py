"""Sphinx configuration: ``make docs`` builds the site into docs/_build/html."""

from __future__ import annotations

import os
import warnings

import sktransfer

project = "sktransfer"
author = "the sktransfer developers"
copyright = "2026, the sktransfer developers"  # noqa: A001 - Sphinx's name
release = version = sktransfer.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.md5",
                    "auto_examples/*.codeobj.json"]  # fmt: skip
templates_path = ["_templates"]

autosummary_generate = True
autodoc_default_options = {
    "members": True,
    "inherited-members": False,
    # scikit-learn's generated metadata-routing setters cite its own glossary.
    "exclude-members": ",".join(
        f"set_{method}_request"
        for method in ("fit", "partial_fit", "predict", "score", "transform")
    ),
}
# Defaults as written in the source (``criterion=torch.nn.CrossEntropyLoss``),
# not their repr (``<class 'torch.nn.modules.loss.CrossEntropyLoss'>``).
autodoc_preserve_defaults = True
numpydoc_show_class_members = False
numpydoc_xref_param_type = False

myst_heading_anchors = 3

# Links to the libraries the API talks about are resolved offline: the build
# must not need the network, so intersphinx has no inventories to fetch.
intersphinx_mapping: dict = {}

html_theme = "pydata_sphinx_theme"
html_title = f"sktransfer {version}"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
# Code and wide tables scroll inside the text column (docs/_static/custom.css).
html_static_path = ["_static"]
html_css_files = ["custom.css"]

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",  # only these run; others are listed
    # Only the command-line example (make example), not plot_mnist_to_usps.py:
    # matched with re.search against the path (or the bare file name).
    "ignore_pattern": r"(^|[\\/])mnist_to_usps\.py$",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "image_scrapers": ("matplotlib",),
    "reset_modules": ("matplotlib",),
    "show_memory": False,
    # "Examples using X" on every API page: the autosummary templates
    # (docs/_templates/autosummary) end with a minigallery of these files.
    "backreferences_dir": "generated/backreferences",
    "doc_module": ("sktransfer",),
    "plot_gallery": "True",
}

# The examples read the real data where the Makefile says it is, unless set.
os.environ.setdefault("SKTRANSFER_DATA", os.path.abspath("../../shared/data"))
warnings.filterwarnings("ignore", message="Matplotlib is currently using agg")
