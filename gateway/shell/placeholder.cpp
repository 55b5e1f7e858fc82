namespace troupe::shell {}
