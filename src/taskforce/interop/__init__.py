"""Speaking the threat-intelligence ecosystem's languages: what a member may pass on, as STIX 2.1
bundles with TLP 2.0 markings, a read-only TAXII 2.1 server, MISP events and a MISP feed; and
MISP events imported into a case as selectors."""
