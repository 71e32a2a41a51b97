"""The network's 24/7 duty rota: desks and what they can do, rotations, rules, overrides,
temporary schedules, who is on duty and where cover is missing."""
