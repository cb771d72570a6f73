#!/usr/bin/env python3
"""Builds the federated-learning tasks' data (netsim/learning/) from the real
data sets in ../shared/data: one CSV per party, every party of a task with
the same table name and columns (docs/learning.md, "Tasks"). The parking
task reuses the demo city's netsim/city/parking-*.csv and needs nothing here.
Standard library only. Run from the repository root:

    tools/make_learning_data.py ../shared/data netsim/learning
"""
import csv
import datetime
import os
import sys

src, dst = sys.argv[1], sys.argv[2]


def out(sub, name, header, rows):
    os.makedirs(os.path.join(dst, sub), exist_ok=True)
    path = os.path.join(dst, sub, name)
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        n = 0
        for r in rows:
            w.writerow(r)
            n += 1
    print(f"{sub}/{name}: {n} rows, {os.path.getsize(path)} bytes")


def air():
    """London Marylebone Road, hourly, 1998-2005, split by year ranges over
    three nodes; every sixth hour (rows with no2 and wind present)."""
    ranges = [("air-1998-2000", 1998, 2000), ("air-2001-2002", 2001, 2002),
              ("air-2003-2005", 2003, 2005)]
    with open(os.path.join(src, "london-air/mydata.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    for name, y0, y1 in ranges:
        def gen():
            for i, r in enumerate(rows):
                if i % 6:
                    continue
                y = int(r["date"][:4])
                if not (y0 <= y <= y1):
                    continue
                if "NA" in (r["no2"], r["ws"], r["wd"]):
                    continue
                yield [r["date"], r["no2"], r["ws"], r["wd"]]
        out("air", name + ".csv", ["ts", "no2", "wind_ms", "wind_dir"], gen())


def taxi():
    """NYC TLC March 2019: yellow and green trips as two nodes. Columns that
    would leak the fare (total, tip, tolls, surcharges, payment) are left
    out; zones keep their TLC id and borough. Every other yellow trip."""
    zones = {}
    with open(os.path.join(src, "nyc-taxi/taxi_zones.csv"), newline="") as f:
        for r in csv.DictReader(f):
            zones.setdefault(r["LocationID"], r["borough"].replace(" ", "_"))
    with open(os.path.join(src, "nyc-taxi/taxis.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    for color in ("yellow", "green"):
        def gen():
            k = 0
            for r in rows:
                if r["color"] != color:
                    continue
                k += 1
                if color == "yellow" and k % 2:
                    continue
                pu, do = r["PULocationID"], r["DOLocationID"]
                yield [r["tpep_pickup_datetime"], r["trip_distance"], pu, do,
                       zones.get(pu, "Unknown"), zones.get(do, "Unknown"), r["fare_amount"]]
        out("taxi", "taxi-" + color + ".csv",
            ["ts", "distance_mi", "pu_zone", "do_zone", "pu_borough", "do_borough", "fare_usd"],
            gen())


def energy():
    """Tetouan 2017, hourly readings (the :00 rows of the 10-minute file);
    each zone is one node whose consumption column is named load_kw. The
    hours are dealt out to the three nodes by (day + hour) mod 3, so every
    node sees every hour of the day and no row is in two nodes."""
    with open(os.path.join(src, "tetouan-energy/tetuan-city-power-consumption.csv"),
              newline="") as f:
        rows = list(csv.DictReader(f))
    for z in (1, 2, 3):
        def gen():
            for r in rows:
                t = datetime.datetime.strptime(r["DateTime"], "%m/%d/%y %H:%M")
                if t.minute:
                    continue
                if (t.timetuple().tm_yday + t.hour) % 3 != z - 1:
                    continue
                yield [t.strftime("%Y-%m-%d %H:%M:%S"), r["Temperature"], r["Humidity"],
                       r["Wind Speed"], "%.1f" % float(r["Zone %d Power Consumption" % z])]
        out("energy", "energy-zone%d.csv" % z,
            ["ts", "temperature", "humidity", "wind", "load_kw"], gen())


air()
taxi()
energy()
