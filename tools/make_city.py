#!/usr/bin/env python3
"""Builds the demo city's data (netsim/city/*.csv) from the real data sets in
../shared/data. Each department's source is mapped to the table schema the
departments agreed on (DECISIONS.md, "The demo city"), trimmed to a few
weeks so the repository stays small. Run from the repository root:

    tools/make_city.py ../shared/data netsim/city
"""
import csv
import datetime
import os
import sys

src, dst = sys.argv[1], sys.argv[2]


def out(name, header, rows):
    with open(os.path.join(dst, name), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        n = 0
        for r in rows:
            w.writerow(r)
            n += 1
    print(f"{name}: {n} rows")


def taxi():
    with open(os.path.join(src, "nyc-taxi/taxis.csv"), newline="") as f:
        for r in csv.DictReader(f):
            a = datetime.datetime.strptime(r["tpep_pickup_datetime"], "%Y-%m-%d %H:%M:%S")
            b = datetime.datetime.strptime(r["tpep_dropoff_datetime"], "%Y-%m-%d %H:%M:%S")
            yield [r["tpep_pickup_datetime"], int((b - a).total_seconds()), r["trip_distance"],
                   r["fare_amount"]]


def bikes():
    with open(os.path.join(src, "nyc-citibike/trips-2017-04-18.csv"), newline="") as f:
        for i, r in enumerate(csv.DictReader(f)):
            if i % 3 == 0:  # every third trip
                yield [r["start_ts"], r["duration"], r["start_station"], r["end_station"]]


def birmingham(north):
    with open(os.path.join(src, "birmingham-parking/dataset.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    codes = sorted({r["SystemCodeNumber"] for r in rows})
    half = set(codes[: len(codes) // 2])
    for r in rows:
        if (r["SystemCodeNumber"] in half) != north:
            continue
        if not r["LastUpdated"].startswith(("2016-10-1", "2016-10-2")):  # 20 days
            continue
        yield [r["LastUpdated"], r["SystemCodeNumber"], r["Capacity"], r["Occupancy"]]


def aarhus():
    with open(os.path.join(src, "aarhus-parking/AarhusParkingData.stream"), newline="") as f:
        for r in csv.DictReader(f):
            ts = r["updatetime"][:19]
            if not ts.startswith(("2014-06-0", "2014-06-1")):  # 19 days
                continue
            yield [ts, r["garagecode"], r["totalspaces"], r["vehiclecount"]]


def air():
    with open(os.path.join(src, "london-air/mydata.csv"), newline="") as f:
        for r in csv.DictReader(f):
            if r["date"].startswith("2004"):
                yield [r["date"], r["no2"], r["pm10"], r["o3"], r["nox"], r["ws"]]


def energy():
    with open(os.path.join(src, "tetouan-energy/tetuan-city-power-consumption.csv"), newline="") as f:
        for r in csv.DictReader(f):
            t = datetime.datetime.strptime(r["DateTime"], "%m/%d/%y %H:%M")
            if t.minute != 0 or t.month > 6:  # hourly, first half of 2017
                continue
            yield [t.strftime("%Y-%m-%d %H:%M:%S"), r["Temperature"], r["Humidity"], r["Wind Speed"],
                   r["Zone 1 Power Consumption"], r["Zone 2 Power Consumption"],
                   r["Zone 3 Power Consumption"]]


out("transport-trips.csv", ["ts", "duration_s", "distance_mi", "fare_usd"], taxi())
out("bikeshare-trips.csv", ["ts", "duration_s", "start_station", "end_station"], bikes())
park = ["ts", "lot", "capacity", "occupied"]
out("parking-north.csv", park, birmingham(True))
out("parking-south.csv", park, birmingham(False))
out("parking-aarhus.csv", park, aarhus())
out("environment-air.csv", ["ts", "no2", "pm10", "o3", "nox", "wind_ms"], air())
out("energy-load.csv", ["ts", "temperature", "humidity", "wind", "zone1_kw", "zone2_kw", "zone3_kw"],
    energy())
