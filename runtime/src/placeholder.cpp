namespace troupe::runtime {}
