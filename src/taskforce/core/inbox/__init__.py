"""The in-app inbox of an agency's people for notices that are not hits: new gaps in the
rota, a handover left unacknowledged, a preservation about to expire."""
