"""The engine: the step algebra (``_algo``), the run loop (``_loop``), its sync and async
drivers (``_drivers``) and the graph's run-facing methods (``main.Pregel``)."""
