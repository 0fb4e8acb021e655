"""`python -m summarizer.train`: train, evaluate ROUGE, keep the best model.

The command's code is `summarizer.commands.train`; import that, not this module: importing
`summarizer.train` would rebind the package's `summarizer.train`, the Python API function.
"""

from summarizer.commands.train import run_command

if __name__ == "__main__":
    run_command()
