"""The commands' code: `python -m summarizer.train`, `.predict` and `.score` start them.

It lives here, not in `summarizer/train.py` etc., so that importing a command never rebinds the
package's `summarizer.train`, `summarizer.predict` or `summarizer.score` (the Python API).
"""
