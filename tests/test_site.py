"""The course site, built with ``mkdocs build`` and read in a real browser.

The site is built into a temporary folder from the notebooks that ``test_notebooks.py``
executed (the others are executed here), served on 127.0.0.1 and opened page by page in
headless Chromium (driven by Selenium through Debian's ``chromedriver``), with every
host but 127.0.0.1 unreachable. On every page:

- every image has loaded (``naturalWidth > 0``);
- the math is typeset by MathJax, without TeX errors;
- the browser console shows no errors (a script or a style sheet that failed to load,
  a JavaScript exception);
- a notebook page shows as many figures, and as many animations, as its executed
  notebook holds.

A screenshot of each page goes to the folder named by ``NTM_SITE_SCREENSHOTS`` (default:
a temporary folder). Without mkdocs, Selenium or Chromium the test is skipped, with the
reason; under ``CI=true`` it fails instead.
"""
import functools
import http.server
import os
import pathlib
import re
import shutil
import subprocess
import sys
import threading

import pytest

from support import TEST_KERNEL

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = ["chromium", "chromium-browser", "google-chrome"]

#: a jshtml animation, as written by ntm_numpy.plotting.animation_html
ANIMATION = re.compile(r'<div class="animation">')


def _unavailable(reason):
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the site test must run; .ci/run installs it)")
    pytest.skip(reason)


def _require_module(name):
    try:
        return __import__(name)
    except ImportError:
        _unavailable(f"{name} is not installed: pip install -e '.[docs]'")


def _browser_paths():
    browser = next((p for p in map(shutil.which, CHROMIUM) if p), None)
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        _unavailable("Chromium and chromedriver are not installed: apt-get install chromium "
                     "chromium-driver")
    return browser, driver


def _execute(path, folder):
    nbformat = _require_module("nbformat")
    nbclient = _require_module("nbclient")
    nb = nbformat.read(path, as_version=4)
    # figures drawn with pyplot show inline, as for a reader (not on .ci/run's Agg)
    env = {"MPLBACKEND": "module://matplotlib_inline.backend_inline", "NTM_NOTEBOOK_STATIC": "1"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # inherited by the kernel
    try:
        # run in ``folder``: notebook 04 writes my_backward_ops.py where it runs (for 08)
        nbclient.NotebookClient(nb, timeout=300, kernel_name=TEST_KERNEL,
                                resources={"metadata": {"path": str(folder)}}).execute()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    nbformat.write(nb, folder / path.name)


def _count_outputs(path):
    """(figures, animations) in an executed notebook: image/png outputs, and HTML
    outputs holding a jshtml animation."""
    nbformat = _require_module("nbformat")
    nb = nbformat.read(path, as_version=4)
    figures = animations = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = out.get("data", {})
            figures += "image/png" in data
            animations += len(ANIMATION.findall(data.get("text/html", "")))
    return figures, animations


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):  # the browser moved on
            super().handle_error(request, client_address)


@pytest.fixture(scope="module")
def site(tmp_path_factory, executed_notebooks):
    for name in ("mkdocs", "material", "mkdocs_jupyter", "mkdocstrings", "mathjax"):
        _require_module(name)
    for path in NOTEBOOKS:  # the ones test_notebooks.py did not leave executed
        if not (executed_notebooks / path.name).exists():
            _execute(path, executed_notebooks)
    out = tmp_path_factory.mktemp("site") / "site"
    env = dict(os.environ, NTM_SITE_NOTEBOOKS=str(executed_notebooks),
               NTM_SITE_EXECUTE="false", NO_MKDOCS_2_WARNING="1")
    build = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--site-dir", str(out)],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, f"mkdocs build failed:\n{build.stderr[-4000:]}"
    errors = [line for line in build.stderr.splitlines() if line.startswith("ERROR")]
    assert not errors, "mkdocs build reported errors:\n" + "\n".join(errors)
    handler = functools.partial(_QuietHandler, directory=str(out))
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield out, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    _require_module("selenium")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = _browser_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                "--window-size=1280,900",
                # nothing but the local server: a page that needs the network fails here
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"]:
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory):
    folder = os.environ.get("NTM_SITE_SCREENSHOTS")
    folder = pathlib.Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# waits for MathJax (when the page loads it) and for every image, then reports
_SETTLE = """
const done = arguments[arguments.length - 1];
const mathjax = (window.MathJax && MathJax.startup && MathJax.startup.promise)
    ? MathJax.startup.promise : Promise.resolve();
const images = Array.from(document.images).map(img => img.complete ? Promise.resolve()
    : new Promise(r => { img.onload = r; img.onerror = r; }));
Promise.all([mathjax, ...images]).then(() => done({
    mathjax: !!(window.MathJax && MathJax.startup),
    broken: Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))
        .map(i => (i.getAttribute("src") || "").slice(0, 80)),
    images: document.images.length,
    arithmatex: document.querySelectorAll(".arithmatex").length,
    untypeset: Array.from(document.querySelectorAll(".arithmatex"))
        .filter(e => !e.querySelector("mjx-container")).map(e => e.textContent.slice(0, 60)),
    typeset: document.querySelectorAll("mjx-container").length,
    tex_errors: Array.from(document.querySelectorAll("mjx-merror"))
        .map(e => e.textContent.slice(0, 80)),
    figures: document.querySelectorAll(
        ".jp-OutputArea-output img[src^='data:image/png']").length
        - document.querySelectorAll(".animation img").length,
    animations: document.querySelectorAll(".jp-OutputArea-output .animation").length,
    height: document.documentElement.scrollHeight,
})).catch(e => done({error: String(e)}));
"""


def _pages(site_dir):
    pages = sorted(p.relative_to(site_dir).parent.as_posix()
                   for p in site_dir.rglob("index.html") if "assets" not in p.parts)
    return ["" if p == "." else p + "/" for p in pages]


def _has_notebook_math(path):
    nbformat = _require_module("nbformat")
    nb = nbformat.read(path, as_version=4)
    return any("$" in c.source for c in nb.cells if c.cell_type == "markdown")


def test_every_page_renders_in_chromium(site, browser, screenshots, executed_notebooks):
    site_dir, base = site
    pages = _pages(site_dir)
    notebook_pages = {f"notebooks/{p.stem}/": p for p in NOTEBOOKS}
    assert set(notebook_pages) <= set(pages), "a notebook has no page"
    assert {"", "model/", "results/", "api/model/"} <= set(pages)
    browser.get(base)
    browser.get_log("browser")  # start from an empty console
    problems, typeset_pages, animations_shown = [], 0, 0
    for page in pages:
        browser.get(base + page)
        state = browser.execute_async_script(_SETTLE)
        log = browser.get_log("browser")
        where = page or "index"
        if "error" in state:
            problems.append(f"{where}: {state['error']}")
            continue
        errors = [e["message"] for e in log if e["level"] == "SEVERE"]
        if errors:
            problems.append(f"{where}: console errors {errors[:3]}")
        if state["broken"]:
            problems.append(f"{where}: images not loaded {state['broken'][:3]}")
        if not state["mathjax"]:
            problems.append(f"{where}: MathJax did not start")
        if state["untypeset"]:
            problems.append(f"{where}: math left as text {state['untypeset'][:3]}")
        if state["tex_errors"]:
            problems.append(f"{where}: TeX errors {state['tex_errors'][:3]}")
        if state["arithmatex"] or state["typeset"]:
            typeset_pages += 1
        if page in notebook_pages:
            executed = executed_notebooks / notebook_pages[page].name
            figures, animations = _count_outputs(executed)
            animations_shown += state["animations"]
            if not state["figures"]:
                problems.append(f"{where}: no figure")
            if (state["figures"], state["animations"]) != (figures, animations):
                problems.append(f"{where}: shows {state['figures']} figures and "
                                f"{state['animations']} animations, the executed notebook "
                                f"has {figures} and {animations}")
            if _has_notebook_math(notebook_pages[page]) and not state["typeset"]:
                problems.append(f"{where}: the notebook's math was not typeset")
        browser.set_window_size(1280, max(900, min(int(state["height"]), 16000)))
        name = (page.strip("/").replace("/", "__") or "index") + ".png"
        browser.save_screenshot(str(screenshots / name))
        browser.set_window_size(1280, 900)
    assert not problems, "\n".join(problems)
    assert typeset_pages >= 8, f"math typeset on only {typeset_pages} pages"
    assert animations_shown >= 2, f"the course shows {animations_shown} animations"


def test_site_holds_mathjax_and_loads_nothing_from_the_network(site):
    site_dir, _ = site
    assert (site_dir / "assets" / "mathjax" / "tex-chtml.js").is_file()
    external = re.compile(r"""<(script|img|iframe)[^>]+src=["']?https?://"""
                          r"""|<link[^>]+href=["']?https?://[^>]*rel=["']?(stylesheet|preload)"""
                          r"""|<link[^>]+rel=["']?(stylesheet|preload)[^>]+href=["']?https?://""")
    offenders = [p.relative_to(site_dir).as_posix() for p in site_dir.rglob("*.html")
                 if external.search(p.read_text(encoding="utf-8"))]
    assert not offenders, f"pages load from the network: {offenders}"
