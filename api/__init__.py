"""The riskshare service: gRPC servicers, the client and the ``riskshare`` CLI."""
