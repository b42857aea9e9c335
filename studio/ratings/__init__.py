"""Human ratings: blind A/B battles, MOS scores, rounds, and the leaderboard statistics.

store.py (the database and files), schema.py (tables, migrations) and the
store_*.py modules are the only code that talks to SQLAlchemy; leaderboard.py is
pure statistics over frames. Models are referred to by id: this package never
imports the engine (the front ends run models and hand the outputs over).
"""
