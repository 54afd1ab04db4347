module github.com/shopengine/shop

go 1.26
