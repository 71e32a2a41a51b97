"""Preservation requests: data kept at a provider until a formal request arrives (Budapest
Convention Art. 29, 30), tracked from sent to expiry."""
