"""`python -m summarizer.predict`: a submission for a data split, or one summary.

The command's code is `summarizer.commands.predict`; import that, not this module: importing
`summarizer.predict` would rebind the package's `summarizer.predict`, the Python API function.
"""

from summarizer.commands.predict import main

if __name__ == "__main__":
    main()
