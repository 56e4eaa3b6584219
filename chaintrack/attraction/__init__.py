"""Investment attraction (招商): leads on the map's gaps, from 线索 to 开工."""
