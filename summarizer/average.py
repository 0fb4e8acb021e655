"""`python -m summarizer.average`: the mean of a run's checkpoints, scored on its dev split.

The command's code is `summarizer.commands.average`; import that, not this module: importing
`summarizer.average` would rebind the package's `summarizer.average`, the Python API function.
"""

from summarizer.commands.average import main

if __name__ == "__main__":
    main()
