"""The ports of `ordering.application.ports` over the ORM, each bound to one tenant, one module per
responsibility: the order repository (`orders`) with its row mapping (`order_rows`) and change
tracking (`order_changes`), and the adapters (`catalog`, `coupon_usage`, `order_numbers`,
`idempotency_keys`, `workflow`, `shipments`). Every query filters on the tenant it was built for."""
