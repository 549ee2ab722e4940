"""relaygraph: stateful agent graphs that stream everything they do.

The public API keeps LangGraph's import paths: ``relaygraph.graph`` (``StateGraph``,
``START``, ``END``), ``relaygraph.types`` (``Send``, ``Command``, ``interrupt``),
``relaygraph.config`` (``get_stream_writer``), ``relaygraph.checkpoint.memory``
(``InMemorySaver``). Importing this package loads nothing else.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
