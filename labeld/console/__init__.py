"""The web console: printers, jobs, diagnosis and a test label, for shop staff and technicians."""
