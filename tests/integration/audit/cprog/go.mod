module example.com/cprog

go 1.22
