"""One handler per mutation of api.md, grouped by subject: `checkout` (the cart and the draft),
`lifecycle` (placing to completing, cancelling), `shipments` (and carriers' tracking), `review`
(holds and review), `amendments`, `returns` (and refunds), `intake` (orders from sales channels).
Every change to an existing order runs the one template, `ordering.application.order_change`."""
