"""The command line's parser, on the public interface of :mod:`argparse` only.

argparse keeps its subcommands and options in private attributes; what ``ntm-numpy``
needs of them it keeps itself: :class:`Parser` records the actions ``add_argument``
returns and the parsers of its subcommands (through :class:`Subcommands`, which wraps
the object ``add_subparsers`` returns), :func:`name_the_flag` finds an option by the
name an error message starts with, and :func:`parse_args` reports deprecated options.
"""
import argparse
import re
import sys
import warnings


class Parser(argparse.ArgumentParser):
    """An :class:`argparse.ArgumentParser` that keeps what it is made of.

    Attributes
    ----------
    commands : dict
        Subcommand -> its parser, filled by :class:`Subcommands`.
    options : list of argparse.Action
        The actions added by :meth:`add_argument` (and those a caller appends, e.g. the
        ones added to argument groups).
    """

    def __init__(self, *args, **kwargs):
        self.commands = {}
        self.options = []  # before argparse's __init__, which adds --help
        super().__init__(*args, **kwargs)

    def add_argument(self, *args, **kwargs):
        """:meth:`argparse.ArgumentParser.add_argument`, keeping the action in
        ``options``.

        Returns
        -------
        argparse.Action
        """
        action = super().add_argument(*args, **kwargs)
        self.options.append(action)
        return action


class Subcommands:
    """The subcommands of a :class:`Parser`: ``add_parser`` adds one (through the object
    ``add_subparsers`` returned) and records its parser in ``parser.commands``.

    Parameters
    ----------
    parser : Parser
    **kwargs
        Passed to ``parser.add_subparsers``.
    """

    def __init__(self, parser, **kwargs):
        self.parser = parser
        self._action = parser.add_subparsers(**kwargs)

    def add_parser(self, name, **kwargs):
        """Add the subcommand ``name``; returns its parser (a :class:`Parser`).

        Parameters
        ----------
        name : str
        **kwargs
            Passed to ``add_parser`` (help, description, ...).

        Returns
        -------
        Parser
        """
        sub = self._action.add_parser(name, **kwargs)
        self.parser.commands[name] = sub
        return sub


def name_the_flag(message, parser, command):
    """``"batch_size: expected ..."`` -> ``"--batch-size: expected ..."`` when the message
    starts with the name (the ``dest``) of one of ``command``'s options.

    Parameters
    ----------
    message : str
    parser : Parser
    command : str

    Returns
    -------
    str
    """
    match = re.match(r"([a-z_]+)(?=:)", message)
    if match is None or command not in parser.commands:
        return message
    for action in parser.commands[command].options:
        if action.dest == match.group(1) and action.option_strings:
            return action.option_strings[0] + message[match.end():]
    return message


def parse_args(parser, argv, stream=None):
    """``parser.parse_args(argv)``; each deprecated option given (``--steps``) is reported
    on ``stream`` as ``ntm-numpy: warning: ...`` and its :class:`DeprecationWarning`
    emitted again, for the caller's warning filters.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    argv : list of str
    stream : file, optional
        Default ``sys.stderr``.

    Returns
    -------
    argparse.Namespace
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DeprecationWarning)
        args = parser.parse_args(argv)
    for warning in caught:
        if issubclass(warning.category, DeprecationWarning):
            print(f"{parser.prog}: warning: {warning.message}",
                  file=sys.stderr if stream is None else stream)
        warnings.warn(warning.message, stacklevel=2)
    return args
