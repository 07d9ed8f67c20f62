"""`python -m staffapi`: the staff API and consoles on PORTS.staff_api (STAFF_API_PORT)."""
from staffapi.app import main

main()
