"""The HTTP and websocket API (SPEC section 6), as Litestar controllers."""
