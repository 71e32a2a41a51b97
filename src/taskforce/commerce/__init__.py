"""Commercial sites and the money behind them: a text-only pathway crawler, payment and
infrastructure indicators with their evidence, the graph of sites that share them (brands and
distribution groups), and acting on it: selectors of the hotline's case, notices to payment
providers, a GREEN watch list of wallets. See docs/commercial.md."""
