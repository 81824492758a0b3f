module diffuse

go 1.19
