"""Changes to shared records proposed by those who may not make them, decided by those who may."""
