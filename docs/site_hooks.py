"""Build hooks of the course site (``mkdocs build``, configured in ``mkdocs.yml``).

- The notebooks live in ``notebooks/`` at the top of the repository, outside ``docs/``:
  they are added to the site as ``notebooks/NAME.ipynb``. With ``NTM_SITE_NOTEBOOKS`` set,
  they are taken from that folder instead (already executed copies, built with
  ``NTM_SITE_EXECUTE=false``: the site test reuses the notebook test's executions).
- Links from the docs pages to ``../notebooks/...`` are pointed at those pages.
- Notebook kernels started by the build get ``NTM_NOTEBOOK_STATIC=1``: interactive
  widgets fall back to static figures, which a static site can show.
- The docstrings use reStructuredText roles (``:math:`...```, ``:func:`...```); on the
  generated API pages these become typeset math and plain code.
- MathJax is copied into the site (``assets/mathjax/``) from the ``django-static-mathjax``
  package, so that math is typeset without any network access.
"""
import os
import pathlib
import re
import shutil

from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOK_LINK = re.compile(r"\]\(\.\./notebooks/([^)]*)\)")
RST_MATH = re.compile(r":math:<code>(.*?)</code>", re.S)
RST_REF = re.compile(r":(?:func|class|meth|data|mod|attr|exc|obj):<code>~?(.*?)</code>", re.S)


def _notebooks_dir():
    folder = pathlib.Path(os.environ.get("NTM_SITE_NOTEBOOKS") or ROOT / "notebooks").resolve()
    if not folder.is_dir() or folder.name != "notebooks":
        raise PluginError("NTM_SITE_NOTEBOOKS: expected an existing folder named 'notebooks', "
                          f"got {folder}")
    return folder


def on_config(config):
    os.environ["NTM_NOTEBOOK_STATIC"] = "1"  # inherited by the notebook kernels
    return config


@event_priority(100)  # before mkdocs-jupyter turns .ipynb files into pages
def on_files(files, config):
    folder = _notebooks_dir()
    notebooks = sorted(folder.glob("*.ipynb"))
    if not notebooks:
        raise PluginError(f"no notebooks found in {folder}")
    for path in notebooks:
        files.append(File(f"notebooks/{path.name}", str(folder.parent), config["site_dir"],
                          config["use_directory_urls"]))
    return files


def on_page_markdown(markdown, page, config, files):
    depth = page.file.src_uri.count("/")
    prefix = "../" * depth + "notebooks/"

    def link(match):
        target = match.group(1) or "01_why_memory.ipynb"
        return f"]({prefix}{target})"

    return NOTEBOOK_LINK.sub(link, markdown)


def on_page_content(html, page, config, files):
    if not page.file.src_uri.startswith("api/"):
        return html
    html = RST_MATH.sub(r'<span class="arithmatex">\\(\1\\)</span>', html)
    return RST_REF.sub(r"<code>\1</code>", html)


def on_post_build(config):
    try:
        import mathjax  # the django-static-mathjax package (in the docs extra)
    except ImportError as exc:
        raise PluginError("MathJax: install the docs extra, pip install -e '.[docs]'") from exc
    source = pathlib.Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    if not (source / "tex-chtml.js").is_file():
        raise PluginError(f"MathJax: tex-chtml.js not found in {source}")
    target = pathlib.Path(config["site_dir"]) / "assets" / "mathjax"
    shutil.copytree(source, target, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("sre", "*-full*", "*-speech*", "node-main.js"))
