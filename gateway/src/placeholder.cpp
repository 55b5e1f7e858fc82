namespace troupe::gateway {}
