"""The API's operations as pure ops (generators of requests; see ``_protocol.py``).

One module per resource; each function's signature and docstring are those of the client
method it becomes (``ThreadsClient.get = call(threads.get)``).
"""
