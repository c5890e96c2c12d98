// MathJax 3 configuration, read before assets/mathjax/tex-chtml.js (copied into the site
// from the django-static-mathjax package by docs/site_hooks.py).
// Markdown pages hold math as \( \) and \[ \] (pymdownx.arithmatex); notebook pages as $ $.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"], ["$", "$"]],
    displayMath: [["\\[", "\\]"], ["$$", "$$"]],
    processEscapes: true,
    processEnvironments: true,
  },
  options: {
    skipHtmlTags: ["script", "noscript", "style", "textarea", "pre", "code"],
  },
};
