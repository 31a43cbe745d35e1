import fairness, os, sys
os.chdir('..')
s = fairness.start_server()
try:
    for slow in (0.0, 10.0):
        print(slow, fairness.relay_delay(slow), flush=True)
finally:
    fairness.stop(s)
