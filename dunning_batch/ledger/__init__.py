"""The ledger: what every run issued, what was voided and what was sent, across nights and
folders (README "Running every night"). `store` opens it; `nightly` is a run's part; `sends`
is `send`'s part and `voids` is `void`'s; `history` tells an item's or customer's story."""
