"""`python -m summarizer.tune`: a search over a trained run's decoding settings.

The command's code is `summarizer.commands.tune`; import that, not this module: importing
`summarizer.tune` would rebind the package's `summarizer.tune`, the Python API function.
"""

from summarizer.commands.tune import main

if __name__ == "__main__":
    main()
