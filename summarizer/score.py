"""`python -m summarizer.score`: ROUGE of a predictions CSV against a references CSV.

The command's code is `summarizer.commands.score`; import that, not this module: importing
`summarizer.score` would rebind the package's `summarizer.score`, the Python API function.
"""

from summarizer.commands.score import main

if __name__ == "__main__":
    main()
