DROP TABLE IF EXISTS reservation_lines;
DROP TABLE IF EXISTS reservations;
DROP TABLE IF EXISTS stock;
